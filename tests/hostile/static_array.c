/* expect: ML */
/* opts: --mem 128M */
/* A static 512 MB array (bss), touched. */
static char big[512u << 20];
int main(void)
{
	for (unsigned long i = 0; i < sizeof big; i += 4096)
		big[i] = 1;
	return big[4096] - 1;
}
