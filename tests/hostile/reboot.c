/* expect: SY */
#include <sys/reboot.h>
#include <unistd.h>
int main(void) { sync(); reboot(RB_AUTOBOOT); return 0; }
