/* expect-build: FAIL */
/* Compile bomb: the file includes itself forever (gcc stops at depth 200;
 * other compilers meet the build limits). */
#include __FILE__
#include __FILE__
int main(void) { return 0; }
