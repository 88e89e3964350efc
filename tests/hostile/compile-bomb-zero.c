/* expect-build: FAIL */
/* Compile bomb: the preprocessor reads /dev/zero forever. Built inside the
 * sandbox with the build profile, it must end as a failed build (memory,
 * CPU or wall limit), never hang the runner. */
#include "/dev/zero"
int main(void) { return 0; }
