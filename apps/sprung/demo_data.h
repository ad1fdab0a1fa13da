/* The built-in demo: presets/demo.json and presets/midi/demo.mid, embedded
 * at build time by embed.cmake (see CMakeLists.txt). The preset bytes are
 * followed by a NUL so they can be parsed as a string. */
#ifndef SPRUNG_APP_DEMO_DATA_H
#define SPRUNG_APP_DEMO_DATA_H

#include <stddef.h>

extern const unsigned char sprung_demo_preset[];
extern const size_t sprung_demo_preset_size;
extern const unsigned char sprung_demo_midi[];
extern const size_t sprung_demo_midi_size;

#endif
