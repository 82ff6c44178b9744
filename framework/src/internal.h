/*
 * internal.h -- shared internals of libduraflow (not installed): an umbrella
 * over the headers that each describe one subsystem.  New code may include
 * just the ones it needs.
 *
 *   os.h       clocks, random bytes (util.c)
 *   log.h      logging (log.c)
 *   buf.h      owned byte buffers, small string helpers (buf.c)
 *   map.h      the string-keyed hash map (map.c)
 *   records.h  the records' in-memory form; codec.h their Avro encoding
 *   state.h    the execution-state model (state.c)
 *   engine.h   the replay engine (engine.c)
 */
#ifndef DF_INTERNAL_H
#define DF_INTERNAL_H

#include "buf.h"
#include "codec.h"
#include "duraflow/duraflow.h"
#include "engine.h"
#include "log.h"
#include "map.h"
#include "os.h"
#include "records.h"
#include "state.h"

#endif /* DF_INTERNAL_H */
