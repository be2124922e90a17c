/* SPDX-License-Identifier: Apache-2.0 */
/* providers: what every provider's key pairs share (asym.h). */
#include <stdlib.h>
#include <string.h>
#include "providers/asym.h"

void cmk_pubkey_free(struct cmk_pubkey *k)
{
    if (k == NULL)
        return;
    free(k->spki.p);
    memset(k, 0, sizeof(*k));
}
