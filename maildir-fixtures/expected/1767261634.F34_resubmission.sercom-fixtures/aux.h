#ifndef AUX_H
#define AUX_H
long suma(long a, long b);
#endif
