/* RealtimeSanitizer over issue 3's objects: sprung_engine_process (with
 * notes, audio inputs and three output channels) and sprung_engine_reset
 * inside a real-time section, for the kitchen-sink model (every feature)
 * and every preset given on the command line, at oversampling 1, 2 and 4,
 * with blocks of changing size. A violation aborts the run (non-zero exit);
 * `--sabotage` allocates inside the section and must be caught (wired as
 * in tests/realtime). Usage: test_instrument_realtime [--sabotage] [PRESET...] */
#include <stdlib.h>

#include "instrument_test_util.h"
#include "kitchen_sink.h"

void __rtsan_init(void);
void __rtsan_realtime_enter(void);
void __rtsan_realtime_exit(void);

enum { FRAMES = 4800, MAX_BLOCK = 1024 };

static void run(const SprungModel *model, const char *name, int sabotage)
{
    static const uint32_t sizes[] = {1, 7, 64, 333, 1024, 17};
    for (uint32_t oversampling = 1; oversampling <= 4; oversampling *= 2) {
        SprungEngine *engine = make_engine(model, 48000.0, oversampling, MAX_BLOCK);
        float *outs = calloc(3 * MAX_BLOCK, sizeof *outs);
        float *ins = calloc(2 * MAX_BLOCK, sizeof *ins);
        for (uint32_t i = 0; i < 2 * MAX_BLOCK; i++)
            ins[i] = (i % 97 == 0) ? 0.5f : 0.0f;
        float *outputs[3] = {outs, outs + MAX_BLOCK, outs + 2 * MAX_BLOCK};
        const float *inputs[2] = {ins, ins + MAX_BLOCK};
        uint32_t done = 0, k = 0, note = 0;
        if (sabotage)
            fprintf(stderr, "sabotage: allocating inside the real-time section\n");
        __rtsan_realtime_enter();
        while (done < FRAMES) {
            uint32_t n = sizes[k++ % 6];
            SprungEvent events[2] = {
                {.frame = 0, .type = SPRUNG_EVENT_NOTE_ON, .note = (uint8_t)(30 + note % 70),
                 .velocity = 100, .channel = (uint8_t)(note % 3)},
                {.frame = n - 1, .type = SPRUNG_EVENT_NOTE_OFF,
                 .note = (uint8_t)(30 + (note + 60) % 70)}};
            note++;
            SprungBlock block = {.n_frames = n, .events = events, .n_events = 2,
                                 .outputs = outputs, .n_outputs = 3, .inputs = inputs,
                                 .n_inputs = 2};
            if (sabotage) {
                void *volatile leak = malloc(16);
                free(leak);
            }
            sprung_engine_process(engine, &block);
            done += n;
            if (done > FRAMES / 2 && done - n <= FRAMES / 2)
                sprung_engine_reset(engine);
        }
        __rtsan_realtime_exit();
        free(outs);
        free(ins);
        sprung_engine_free(engine);
    }
    printf("%s: process and reset are real-time safe at oversampling 1, 2, 4\n", name);
}

int main(int argc, char **argv)
{
    __rtsan_init();
    int sabotage = argc > 1 && strcmp(argv[1], "--sabotage") == 0;
    SprungModel *model = load_model(KITCHEN_SINK);
    run(model, "kitchen sink", sabotage);
    sprung_model_free(model);
    for (int i = 1 + sabotage; i < argc; i++) {
        SprungError error;
        if (sprung_model_load_file(argv[i], &model, &error) != SPRUNG_OK) {
            fprintf(stderr, "FAIL: %s\n", error.message);
            return 1;
        }
        run(model, argv[i], sabotage);
        sprung_model_free(model);
    }
    return finish("instrument_realtime");
}
