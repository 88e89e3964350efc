/* año */
#define ANIO 2026
