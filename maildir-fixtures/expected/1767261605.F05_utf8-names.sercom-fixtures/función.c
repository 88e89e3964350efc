/* función auxiliar */
long doble(long x) { return 2 * x; }
