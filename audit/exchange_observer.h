/* exchange_observer.h: the audit as an observer of exchanges (connectors/exchange_t.h): one event
 * per exchange and per refused handshake, written to the node's log (audit.h). Registered by the
 * gateway with the log as its worker_new's conf. */
#ifndef AU_EXCHANGE_OBSERVER_H
#define AU_EXCHANGE_OBSERVER_H

#include "audit.h"
#include "exchange_t.h"

extern const struct ex_observer au_exchange_observer;

#endif
