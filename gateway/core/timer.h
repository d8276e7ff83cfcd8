/* Arming a libevent timer with a duration in milliseconds, the unit of every timeout in the
 * configuration. */
#ifndef GW_GATEWAY_TIMER_H
#define GW_GATEWAY_TIMER_H

#include <event2/event.h>
#include <stdint.h>

/* (Re)arms ev to fire in ms milliseconds; evtimer_add's result. */
static inline int gw_timer_add_ms(struct event *ev, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    return evtimer_add(ev, &tv);
}

#endif
