/* verdict: the attempt verdicts and the case verdicts of
 * docs/ARCHITECTURE.md section 6, as enums with one name table each. The
 * names are what the database stores and the templates' keys ([verdict],
 * [case] of strings.ini); code compares the enums. */
#ifndef SERCOM_VERDICT_H
#define SERCOM_VERDICT_H

#include <stdbool.h>

/* Zero is INTERNAL_ERROR: an outcome nobody filled in is never taken
 * for ACCEPTED. */
enum verdict {
	VERDICT_INTERNAL_ERROR,
	VERDICT_ACCEPTED,
	VERDICT_TESTS_FAILED,
	VERDICT_BUILD_FAILED,
	VERDICT_REJECTED,
	VERDICT_COUNT
};

/* In precedence order: the first that applies to a run is its verdict.
 * Zero is SANDBOX_ERROR: a result nobody filled in never passes. */
enum case_verdict {
	CASE_SANDBOX_ERROR,
	CASE_TIME_LIMIT,
	CASE_WALL_LIMIT,
	CASE_MEMORY_LIMIT,
	CASE_OUTPUT_LIMIT,
	CASE_FORBIDDEN_SYSCALL,
	CASE_SIGNAL,
	CASE_WRONG_EXIT,
	CASE_WRONG_OUTPUT,
	CASE_PASS,
	CASE_VERDICT_COUNT
};

/* "ACCEPTED", ...; "CASE_PASS" is "PASS" */
const char *verdict_name(enum verdict v);
const char *case_verdict_name(enum case_verdict v);
/* The enum of a stored name; false (and *out untouched) for another text. */
bool verdict_parse(const char *name, enum verdict *out);
bool case_verdict_parse(const char *name, enum case_verdict *out);

#endif
