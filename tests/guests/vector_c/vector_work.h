/* Float, double and integer vector work (and long double on the x87) whose every result is
   printed exactly (as checksums of the bit patterns), compiled both as a freestanding guest kernel
   and as a host program: the two outputs must be equal. */
#pragma once

typedef void (*put_char_fn)(char c);

void vector_work(put_char_fn put);
