#pragma once
#include <stddef.h>
// libxml2 types stay out of this header (see CLibXML2/shim.h for why its headers are delicate):
// documents are passed as opaque pointers.

/// Initialise libxml2 once per process (idempotent) and silence its default stderr printer on
/// the calling thread: errors are read from the parser context instead.
void flux_xml_prepare_thread(void);

/// xmlFree is a macro over a per-thread function pointer in 2.9.
void flux_xml_free(void *p);

/// Whether the document (an xmlDocPtr) has an internal or external DTD subset.
int flux_xml_has_dtd(void *doc);

/// Installs (once) an external entity loader that refuses every network URL, so that schema
/// imports and includes can only come from local files.
void flux_xml_install_local_only_loader(void);

/// Validates an xmlDocPtr against an xmlSchemaPtr with a fresh validation context, collecting
/// up to `max_errors` messages ("line N: text") into `out` (newline-separated, NUL-terminated,
/// at most `out_size` bytes). Returns 0 when valid, > 0 when invalid, < 0 on internal error.
int flux_xml_schema_validate(void *schema, void *doc, char *out, int out_size, int max_errors);

/// Parses a schema from a local file path; NULL on failure (errors into `out` like above).
void *flux_xml_schema_load(const char *path, char *out, int out_size);
void flux_xml_schema_free(void *schema);

/// Parses `size` bytes at `base` with the parser context `ctxt` (an xmlParserCtxtPtr) and
/// `options`, like xmlCtxtReadMemory, but hands libxml2 the bytes in chunks through read
/// callbacks: libxml2 2.9's memory input copies the whole document into a buffer of its own
/// first, which doubled the memory of a large file. Returns the xmlDocPtr, NULL on failure
/// (the error is in the context).
void *flux_xml_read_chunked(void *ctxt, const char *base, size_t size, const char *url, int options);
/// A base64 attachment's content the parse may skip: bytes [start, end) of the document, which
/// hold `lines` line ends.
struct flux_xml_elision { size_t start, end; unsigned lines; };
/// Finds, front to back, up to `max` attachment contents (UBL EmbeddedDocumentBinaryObject, CII
/// AttachmentBinaryObject) in the `size` bytes at `document` that are strict base64 of at least
/// 4 KB, outside CDATA; returns how many it wrote to `out` (see flux_xml_elide.c for why
/// skipping them changes nothing a parse, a schema or a rule can tell).
size_t flux_xml_find_attachments(const char *document, size_t size, struct flux_xml_elision *out, size_t max);
/// flux_xml_read_chunked, but each of the `count` runs in `elisions` (sorted, disjoint) reaches
/// libxml2 as "AAAA" followed by its line ends.
void *flux_xml_read_elided(void *ctxt, const char *base, size_t size, const struct flux_xml_elision *elisions,
                           size_t count, const char *url, int options);
/// Parses the file open on `fd`, `size` bytes long (what fstat said; bytes past it are not
/// read), like flux_xml_read_chunked but without holding the file in memory: `head` is its first
/// `head_len` bytes, already read by the caller (for the prolog check); the rest is read with
/// pread from there, 1 MiB at a time. A file that shrinks ends early (libxml2 then reports it
/// truncated). Returns the xmlDocPtr, NULL on failure (the error is in the context).
void *flux_xml_read_file(void *ctxt, int fd, long long size, const char *head, size_t head_len,
                         const char *url, int options);
