/* JSON values to malloc'd text (see model_text.h). */
#include "model/model_text.h"

#include <stdlib.h>
#include <string.h>

char *sprung_json_to_text(const json_t *value, size_t flags)
{
    /* json_dumpb with no buffer returns the size it needs; writing into our
     * own malloc'd block keeps jansson's allocator out of the caller's way. */
    size_t size = json_dumpb(value, NULL, 0, flags);
    if (size == 0)
        return NULL;
    char *text = malloc(size + 1);
    if (!text)
        return NULL;
    if (json_dumpb(value, text, size, flags) != size) {
        free(text);
        return NULL;
    }
    text[size] = '\0';
    return text;
}

int sprung_json_parse(const char *text, size_t length, size_t flags, json_t **root,
                      json_error_t *error)
{
    *root = json_loadb(text, length, flags, error);
    if (*root)
        return 0;
    if (json_error_code(error) == json_error_out_of_memory ||
        json_error_code(error) == json_error_unknown)
        return -1;
    json_error_t again;
    *root = json_loadb(text, length, flags, &again);
    if (*root)
        return 0;
    if (json_error_code(&again) != json_error_code(error) || again.position != error->position ||
        strcmp(again.text, error->text) != 0)
        return -1;
    return 1;
}
