/* The Public Suffix List (publicsuffix.org), for DMARC's organizational
 * domain (RFC 7489 section 3.2).
 *
 * Loaded at run time from a file in the list's format (Debian's
 * publicsuffix package installs PSL_DEFAULT_PATH); rules with non-ASCII
 * labels are stored as A-labels (punycode), since mail domains arrive in
 * that form.  Both the ICANN and the private sections are used.
 *
 * Memory: struct psl is opaque; psl_free releases it.  Lookups only read
 * it, so one loaded list may be shared by threads.
 *
 * Errors: loaders return NULL with a reason in err (may be NULL);
 * lookups return -1 for a name that is not a domain name or does not fit.
 */
#ifndef SCOP_PUBSUFFIX_H
#define SCOP_PUBSUFFIX_H

#include <stddef.h>

#define PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct psl;

struct psl *psl_load(const char *path, char *err, size_t errlen);
struct psl *psl_load_buffer(const char *text, size_t len, char *err, size_t errlen);
void psl_free(struct psl *p);
/* Distinct names with rules ("ck" and "*.ck" count once). */
size_t psl_rule_count(const struct psl *p);

/* Number of labels of name's public suffix (at least 1: the implicit
 * "*" rule), or -1 for a bad name. */
int psl_suffix_labels(const struct psl *p, const char *name);

/* The organizational domain: the public suffix plus one label, lower
 * case, without a trailing dot, into out[outlen].  A name that is itself
 * a public suffix is its own organizational domain.  UTF-8 labels are
 * converted to A-labels first, so the answer is always ASCII. */
int psl_org_domain(const struct psl *p, const char *name, char *out, size_t outlen);

/* Punycode (RFC 3492) of one UTF-8 label, with the "xn--" prefix when it
 * has non-ASCII characters.  -1 for invalid UTF-8 or no room. */
int psl_label_to_ascii(const char *label, size_t len, char *out, size_t outlen);

#endif
