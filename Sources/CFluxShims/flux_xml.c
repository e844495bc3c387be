#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include "flux_xml.h"
#include <pthread.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

static void flux_xml_noop(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }
static void flux_xml_noop_structured(void *ctx, xmlErrorPtr err) { (void)ctx; (void)err; }
static pthread_once_t flux_xml_once = PTHREAD_ONCE_INIT;
static void flux_xml_init_once(void) { xmlInitParser(); }

void flux_xml_prepare_thread(void) {
    pthread_once(&flux_xml_once, flux_xml_init_once);
    xmlSetGenericErrorFunc(NULL, flux_xml_noop);
    xmlSetStructuredErrorFunc(NULL, flux_xml_noop_structured);
}

void flux_xml_free(void *p) { xmlFree(p); }

int flux_xml_has_dtd(void *p) {
    xmlDocPtr doc = (xmlDocPtr)p;
    return doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL);
}

#include <string.h>
#include <stdio.h>
#include <libxml/xmlschemas.h>
#include <libxml/parserInternals.h>

static xmlExternalEntityLoader flux_default_loader = NULL;
static pthread_once_t flux_loader_once = PTHREAD_ONCE_INIT;

static xmlParserInputPtr flux_local_only_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
    if (url != NULL && (strncmp(url, "http:", 5) == 0 || strncmp(url, "https:", 6) == 0 || strncmp(url, "ftp:", 4) == 0)) {
        return NULL;
    }
    return flux_default_loader ? flux_default_loader(url, id, ctxt) : NULL;
}

static void flux_install_loader(void) {
    flux_default_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(flux_local_only_loader);
}

void flux_xml_install_local_only_loader(void) { pthread_once(&flux_loader_once, flux_install_loader); }

typedef struct { char *out; int size; int used; int count; int max; } flux_err_buf;

static void flux_err_append(flux_err_buf *b, const char *s, size_t n) {
    size_t room = (size_t)(b->size - 1 - b->used);
    if (n > room) n = room;
    memcpy(b->out + b->used, s, n);
    b->used += (int)n;
    b->out[b->used] = 0;
}

/* A quoted value longer than this is cut in the message: libxml2 quotes the whole value of a
   failing element, and a broken base64 attachment would fill the message with megabytes. */
#define FLUX_ERR_MAX_QUOTED 200
#define FLUX_ERR_KEPT_QUOTED 60

static void flux_err_append_shortened(flux_err_buf *b, const char *msg) {
    const char *p = msg;
    while (*p) {
        const char *q = strchr(p, '\'');
        if (q == NULL) { flux_err_append(b, p, strlen(p)); return; }
        const char *end = strchr(q + 1, '\'');
        if (end == NULL) { flux_err_append(b, p, strlen(p)); return; }
        size_t len = (size_t)(end - q - 1);
        if (len <= FLUX_ERR_MAX_QUOTED) {
            flux_err_append(b, p, (size_t)(end + 1 - p));
        } else {
            size_t keep = FLUX_ERR_KEPT_QUOTED;
            /* never cut inside a UTF-8 sequence */
            while (keep > 0 && ((unsigned char)q[1 + keep] & 0xC0) == 0x80) keep--;
            flux_err_append(b, p, (size_t)(q + 1 + keep - p));
            char note[64];
            int n = snprintf(note, sizeof note, "...' (%zu bytes)", len);
            if (n > 0) flux_err_append(b, note, (size_t)n);
        }
        p = end + 1;
    }
}

static void flux_collect_error(void *user, xmlErrorPtr err) {
    flux_err_buf *b = (flux_err_buf *)user;
    if (err == NULL || b->count >= b->max || b->used >= b->size - 1) { if (b) b->count++; return; }
    const char *msg = err->message ? err->message : "unknown error";
    char head[40];
    int n = snprintf(head, sizeof head, "%sline %d: ", b->used > 0 ? "\n" : "", err->line);
    if (n > 0) flux_err_append(b, head, (size_t)n);
    flux_err_append_shortened(b, msg);
    /* strip the trailing newline libxml2 puts on messages */
    while (b->used > 0 && (b->out[b->used - 1] == '\n' || b->out[b->used - 1] == ' ')) b->out[--b->used] = 0;
    b->count++;
}

void *flux_xml_schema_load(const char *path, char *out, int out_size) {
    flux_xml_prepare_thread();
    flux_xml_install_local_only_loader();
    if (out_size > 0) out[0] = 0;
    flux_err_buf b = { out, out_size, 0, 0, 5 };
    xmlSchemaParserCtxtPtr pctxt = xmlSchemaNewParserCtxt(path);
    if (pctxt == NULL) return NULL;
    xmlSchemaSetParserStructuredErrors(pctxt, flux_collect_error, &b);
    xmlSchemaPtr schema = xmlSchemaParse(pctxt);
    xmlSchemaFreeParserCtxt(pctxt);
    return schema;
}

void flux_xml_schema_free(void *schema) { if (schema) xmlSchemaFree((xmlSchemaPtr)schema); }

int flux_xml_schema_validate(void *schema, void *doc, char *out, int out_size, int max_errors) {
    flux_xml_prepare_thread();
    if (out_size > 0) out[0] = 0;
    xmlSchemaValidCtxtPtr v = xmlSchemaNewValidCtxt((xmlSchemaPtr)schema);
    if (v == NULL) return -1;
    flux_err_buf b = { out, out_size, 0, 0, max_errors };
    xmlSchemaSetValidStructuredErrors(v, flux_collect_error, &b);
    int r = xmlSchemaValidateDoc(v, (xmlDocPtr)doc);
    xmlSchemaFreeValidCtxt(v);
    return r;
}

/// The source of flux_xml_read_chunked: a window over the caller's bytes, read front to back,
/// with the elided runs replaced as they are reached.
struct flux_xml_chunks {
    const char *base;
    size_t size;
    size_t offset;
    const struct flux_xml_elision *elisions;
    size_t count, next;
    size_t sub_left;  // bytes of the current run's stand-in still to hand over
    size_t sub_len;
};

static int flux_xml_chunk_read(void *context, char *buffer, int len) {
    struct flux_xml_chunks *c = context;
    if (len <= 0) return 0;
    if (c->sub_left > 0) {
        // The stand-in: "AAAA", then the run's line ends.
        size_t n = c->sub_left < (size_t)len ? c->sub_left : (size_t)len;
        for (size_t i = 0; i < n; i++) buffer[i] = (c->sub_len - c->sub_left + i) < 4 ? 'A' : '\n';
        c->sub_left -= n;
        return (int)n;
    }
    if (c->next < c->count && c->offset == c->elisions[c->next].start) {
        c->sub_len = c->sub_left = 4 + c->elisions[c->next].lines;
        c->offset = c->elisions[c->next].end;
        c->next++;
        return flux_xml_chunk_read(context, buffer, len);
    }
    size_t left = (c->next < c->count ? c->elisions[c->next].start : c->size) - c->offset;
    size_t n = left < (size_t)len ? left : (size_t)len;
    memcpy(buffer, c->base + c->offset, n);
    c->offset += n;
    return (int)n;
}

static int flux_xml_chunk_close(void *context) { (void)context; return 0; }

void *flux_xml_read_elided(void *ctxt, const char *base, size_t size, const struct flux_xml_elision *elisions,
                           size_t count, const char *url, int options) {
    // On the stack: libxml2 is done with the callbacks when xmlCtxtReadIO returns.
    struct flux_xml_chunks chunks = { base, size, 0, elisions, count, 0, 0, 0 };
    return xmlCtxtReadIO((xmlParserCtxtPtr)ctxt, flux_xml_chunk_read, flux_xml_chunk_close, &chunks, url, NULL, options);
}

void *flux_xml_read_chunked(void *ctxt, const char *base, size_t size, const char *url, int options) {
    return flux_xml_read_elided(ctxt, base, size, NULL, 0, url, options);
}

/// The source of flux_xml_read_file: the head the caller already read, then the file from where
/// the head ends, read with pread in large pieces and handed to libxml2 in the small ones it
/// asks for (4 KB).
struct flux_xml_file {
    int fd;
    long long offset, size;
    const char *head;
    size_t head_len, head_pos;
    char *buf;
    size_t cap, start, end;
};

static int flux_xml_file_read(void *context, char *buffer, int len) {
    struct flux_xml_file *f = context;
    if (len <= 0) return 0;
    if (f->head_pos < f->head_len) {
        size_t k = f->head_len - f->head_pos;
        if (k > (size_t)len) k = (size_t)len;
        memcpy(buffer, f->head + f->head_pos, k);
        f->head_pos += k;
        return (int)k;
    }
    if (f->start == f->end) {
        if (f->offset >= f->size) return 0;
        long long left = f->size - f->offset;
        size_t want = left < (long long)f->cap ? (size_t)left : f->cap;
        ssize_t n;
        do { n = pread(f->fd, f->buf, want, (off_t)f->offset); } while (n < 0 && errno == EINTR);
        if (n < 0) return -1;
        if (n == 0) return 0;  // the file shrank: libxml2 sees the document end early
        f->offset += n;
        f->start = 0;
        f->end = (size_t)n;
    }
    size_t k = f->end - f->start;
    if (k > (size_t)len) k = (size_t)len;
    memcpy(buffer, f->buf + f->start, k);
    f->start += k;
    return (int)k;
}

void *flux_xml_read_file(void *ctxt, int fd, long long size, const char *head, size_t head_len,
                         const char *url, int options) {
    struct flux_xml_file f = { fd, (long long)head_len, size, head, head_len, 0, NULL, 1u << 20, 0, 0 };
    f.buf = malloc(f.cap);
    if (f.buf == NULL) return NULL;
    void *doc = xmlCtxtReadIO((xmlParserCtxtPtr)ctxt, flux_xml_file_read, flux_xml_chunk_close, &f, url, NULL, options);
    free(f.buf);
    return doc;
}
