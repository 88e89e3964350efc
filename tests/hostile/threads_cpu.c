/* expect: TO */
/* opts: --procs 8 --cpu 1 --wall 10 */
/* Threads whose CPU time exceeds the wall time: the CPU limit counts all. */
#include <pthread.h>
static void *spin(void *a) { for (volatile long i = 0;; i++) ; return a; }
int main(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], 0, spin, 0);
	spin(0);
}
