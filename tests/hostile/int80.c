/* expect: SY|SG */
/* A syscall through the i386 ABI (int 0x80), where a 64-bit filter would
 * (SG where the kernel has no working int 0x80, as on some hypervisors)
 * see other numbers: the whole foreign ABI is killed. */
int main(void)
{
	long ret;
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) /* getpid */ : "memory");
	return 0;
}
