/* expect: TO */
/* opts: --cpu 1 --wall 5 */
int main(void) { for (volatile unsigned long i = 0;; i++) ; }
