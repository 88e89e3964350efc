/* expect: SY */
/* The kernel keyring is not namespaced. */
#include <sys/syscall.h>
#include <unistd.h>
int main(void) { syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0); return 0; }
