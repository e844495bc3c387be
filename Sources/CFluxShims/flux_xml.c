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
