/* duraflow/export.h -- symbol visibility of the public API. */
#ifndef DURAFLOW_EXPORT_H
#define DURAFLOW_EXPORT_H
#if defined(__GNUC__)
#define DF_EXPORT __attribute__((visibility("default")))
#else
#define DF_EXPORT
#endif
#endif
