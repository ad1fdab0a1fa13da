/* The URIs of the sprung.lv2 bundle: the plugins, the parameters and state
 * keys, and the private test hook. These are names, never addresses: they
 * must never change (a host finds sessions and presets by them). `.example`
 * is reserved (RFC 2606), so no one else can ever own them. Shared by the
 * plugin (plugins/lv2) and its test host (tests/lv2); the Turtle files
 * spell the same URIs. Any thread. */
#ifndef SPRUNG_LV2_URIS_H
#define SPRUNG_LV2_URIS_H

#define SPRUNG_LV2_URI "https://sprung.example/lv2"
#define SPRUNG_LV2_INSTRUMENT_URI SPRUNG_LV2_URI "/instrument"
#define SPRUNG_LV2_EFFECT_URI SPRUNG_LV2_URI "/effect"
#define SPRUNG_LV2_PREFIX SPRUNG_LV2_URI "#"

/* patch:Parameters (patch:Set / patch:Get on the control and notify ports). */
#define SPRUNG_LV2__preset SPRUNG_LV2_PREFIX "preset"             /* atom:Path, a .json file */
#define SPRUNG_LV2__oversampling SPRUNG_LV2_PREFIX "oversampling" /* atom:Int, 1, 2 or 4 */

/* State keys (besides sprung:preset and sprung:oversampling). */
#define SPRUNG_LV2__presetJson SPRUNG_LV2_PREFIX "presetJson" /* atom:String, the preset itself */
#define SPRUNG_LV2__gain SPRUNG_LV2_PREFIX "gain"             /* atom:Float, dB */
#define SPRUNG_LV2__macro SPRUNG_LV2_PREFIX "macro"           /* + "1".."8", atom:Float */

/* Private to the tests: extension_data(SPRUNG_LV2__testing) gives a
 * SprungLv2Testing. Not for hosts. */
#define SPRUNG_LV2__testing SPRUNG_LV2_PREFIX "testing"

enum {
    SPRUNG_LV2_TESTING_ALLOCATE_IN_RUN = 1u << 0, /* run() calls malloc/free (the sabotage) */
};

typedef struct SprungLv2Testing {
    /* Puts a bug back; call before run(). */
    void (*sabotage)(void *instance, unsigned flags);
} SprungLv2Testing;

/* Port indices, the same in both plugins; the effect adds its inputs. */
typedef enum SprungLv2Port {
    SPRUNG_LV2_PORT_CONTROL = 0, /* atom input: MIDI, patch:Set/Get */
    SPRUNG_LV2_PORT_NOTIFY = 1,  /* atom output: patch:Set replies */
    SPRUNG_LV2_PORT_OUT_LEFT = 2,
    SPRUNG_LV2_PORT_OUT_RIGHT = 3,
    SPRUNG_LV2_PORT_GAIN = 4,    /* dB */
    SPRUNG_LV2_PORT_ENABLED = 5, /* lv2:enabled: 0 is bypass */
    SPRUNG_LV2_PORT_MACRO_1 = 6, /* ... macro 8 at 13 */
    SPRUNG_LV2_PORT_LATENCY = 14,
    SPRUNG_LV2_PORT_IN_LEFT = 15, /* effect only */
    SPRUNG_LV2_PORT_IN_RIGHT = 16,
} SprungLv2Port;

enum { SPRUNG_LV2_MACROS = 8, SPRUNG_LV2_INSTRUMENT_PORTS = 15, SPRUNG_LV2_EFFECT_PORTS = 17 };

#endif
