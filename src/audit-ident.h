/* moat — who a container is, as the engine that made it named it: the pod,
 * namespace, container name and image from the OCI annotations containerd's
 * CRI plugin, CRI-O and podman pass, and the user's own org.moat.* ones.
 * It is said once per log, in its first line (the header record), and the
 * reader (audit-read.h) carries it into every record it prints. */
#ifndef MOAT_AUDIT_IDENT_H
#define MOAT_AUDIT_IDENT_H

#include <stddef.h>

/* The version of the record format (docs/audit-record.schema.json): a
 * field renamed, retyped or removed is a new version. */
#define AUDIT_SCHEMA_VERSION 1

/* Annotation values are the engine's (or a user's) text: bounded, so a
 * megabyte of annotation cannot make every printed record a megabyte. */
#define AUDIT_IDENT_VALUE_MAX 512
#define AUDIT_IDENT_KEY_MAX 128
#define AUDIT_IDENT_EXTRA_MAX 32

/* The header record of container ID's log (a complete line), from its
 * config's annotations KEYS[i] = VALUES[i]. */
char *audit_header_line (const char *id, char *const *keys, char *const *values, size_t n);

#endif
