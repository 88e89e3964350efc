/* Named so that gcc, handed the name, reads x.c as its options (a response
 * file): -wrapper runs w.h around each of its programs. */
