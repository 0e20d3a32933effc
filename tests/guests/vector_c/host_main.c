/* The host side of the vector guest: the same work, printed on stdout. */
#include <stdio.h>

#include "vector_work.h"

static void stdout_put(char c) {
  putchar(c);
}

int main(void) {
  vector_work(stdout_put);
  return 0;
}
