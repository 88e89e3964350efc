/* expect: SG */
/* Unbounded recursion: RLIMIT_STACK ends it with SIGSEGV. */
static int f(volatile int n) { volatile char pad[4096]; pad[0] = (char)n; return f(n + 1) + pad[0]; }
int main(void) { return f(0); }
