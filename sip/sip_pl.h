/* sip_pl: pointer+length slices into a SIP message, and the small helpers
 * every SIP parser needs (compare, number, parameter lookup, list split).
 *
 * Slices are never NUL-terminated; every helper takes the length. */
#ifndef SIP_PL_H
#define SIP_PL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct {
	const char *p;
	size_t l;
} sip_pl;

/* A slice of a string literal. */
#define SIP_PL(lit) ((sip_pl){ (lit), sizeof(lit) - 1 })
#define SIP_PL_NULL ((sip_pl){ NULL, 0 })

/* A slice of a NUL-terminated string (NULL gives the empty slice). */
static inline sip_pl sip_pl_cstr(const char *s)
{
	return (sip_pl){ s, s ? strlen(s) : 0 };
}

/* One past the last byte (NULL for an unset slice: no NULL + 0). */
static inline const char *sip_pl_end(sip_pl a)
{
	return a.p ? a.p + a.l : NULL;
}

/* True when the slice is set (p != NULL), even if empty. */
static inline bool sip_pl_isset(sip_pl a)
{
	return a.p != NULL;
}

/* Byte-exact comparison of two slices. */
bool sip_pl_eq(sip_pl a, sip_pl b);
/* Byte-exact comparison with a C string. */
bool sip_pl_eq_str(sip_pl a, const char *s);
/* ASCII case-insensitive comparison of two slices. */
bool sip_pl_caseeq(sip_pl a, sip_pl b);
/* ASCII case-insensitive comparison with a C string. */
bool sip_pl_casecmp(sip_pl a, const char *s);
/* Case-insensitive comparison with a string literal: the length is
 * known at compile time, so mismatched lengths cost one compare. */
#define SIP_PL_CASEEQ_LIT(a, lit) \
	((a).l == sizeof(lit) - 1 && sip_pl_caseeq((a), SIP_PL(lit)))
/* Parses all of a as a decimal uint32 (no sign, no spaces): 0, EINVAL or ERANGE. */
int sip_pl_u32(sip_pl a, uint32_t *out);
/* Strips leading and trailing SP/HTAB/CR/LF. */
sip_pl sip_pl_trim(sip_pl a);
/* Copies a into buf as a C string (truncating to cap - 1); returns buf. */
char *sip_pl_strcpy(sip_pl a, char *buf, size_t cap);
/* Duplicates a as a NUL-terminated heap string (g_malloc; never NULL). */
char *sip_pl_strdup(sip_pl a);

/* Looks up parameter name in a ';'-separated list such as "tag=1;lr;q=0.5"
 * (leading ';' and whitespace around '=' and ';' allowed, names compared
 * without case). Returns true if present; *val (may be NULL) gets the value,
 * an empty slice with p set for a flag parameter, quotes kept. */
bool sip_param_get(sip_pl params, const char *name, sip_pl *val);

/* Walks a parameter list like sip_param_get does: gives the next name and
 * value (empty with p set for a flag parameter) and advances *rest.
 * Returns false at the end. Parsers use it to pick several parameters in
 * one pass. */
bool sip_param_next(sip_pl *rest, sip_pl *name, sip_pl *val);

/* Splits the next top-level element off a comma-separated header value,
 * respecting "quoted strings" and <angle brackets>. *rest is advanced.
 * Returns false when nothing is left; empty elements are skipped. */
bool sip_pl_list_next(sip_pl *rest, sip_pl *elem);

#endif
