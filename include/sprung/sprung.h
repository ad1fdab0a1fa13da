/* libsprung: a real-time mass-spring physics synthesizer. Umbrella header. */
#ifndef SPRUNG_SPRUNG_H
#define SPRUNG_SPRUNG_H

#include "sprung/attributes.h"
#include "sprung/engine.h"
#include "sprung/events.h"
#include "sprung/model.h"
#include "sprung/runner.h"
#include "sprung/status.h"

#endif
