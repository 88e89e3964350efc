/* verdict: see verdict.h. */
#include "verdict.h"

#include <stddef.h>
#include <string.h>

static const char *const verdict_names[VERDICT_COUNT] = {
	[VERDICT_ACCEPTED] = "ACCEPTED",
	[VERDICT_TESTS_FAILED] = "TESTS_FAILED",
	[VERDICT_BUILD_FAILED] = "BUILD_FAILED",
	[VERDICT_REJECTED] = "REJECTED",
	[VERDICT_INTERNAL_ERROR] = "INTERNAL_ERROR",
};

static const char *const case_verdict_names[CASE_VERDICT_COUNT] = {
	[CASE_SANDBOX_ERROR] = "SANDBOX_ERROR",
	[CASE_TIME_LIMIT] = "TIME_LIMIT",
	[CASE_WALL_LIMIT] = "WALL_LIMIT",
	[CASE_MEMORY_LIMIT] = "MEMORY_LIMIT",
	[CASE_OUTPUT_LIMIT] = "OUTPUT_LIMIT",
	[CASE_FORBIDDEN_SYSCALL] = "FORBIDDEN_SYSCALL",
	[CASE_SIGNAL] = "SIGNAL",
	[CASE_WRONG_EXIT] = "WRONG_EXIT",
	[CASE_WRONG_OUTPUT] = "WRONG_OUTPUT",
	[CASE_PASS] = "PASS",
};

const char *verdict_name(enum verdict v)
{
	return (unsigned)v < VERDICT_COUNT ? verdict_names[v] : "INTERNAL_ERROR";
}

const char *case_verdict_name(enum case_verdict v)
{
	return (unsigned)v < CASE_VERDICT_COUNT ? case_verdict_names[v] : "SANDBOX_ERROR";
}

static bool parse(const char *const *names, int n, const char *name, int *out)
{
	for (int i = 0; name && i < n; i++)
		if (!strcmp(names[i], name)) {
			*out = i;
			return true;
		}
	return false;
}

bool verdict_parse(const char *name, enum verdict *out)
{
	int i;
	if (!parse(verdict_names, VERDICT_COUNT, name, &i))
		return false;
	*out = (enum verdict)i;
	return true;
}

bool case_verdict_parse(const char *name, enum case_verdict *out)
{
	int i;
	if (!parse(case_verdict_names, CASE_VERDICT_COUNT, name, &i))
		return false;
	*out = (enum case_verdict)i;
	return true;
}
