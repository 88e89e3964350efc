/* expect: RE */
int main(void) { return 3; }
