// The FlatBuffers verifier (2.0.8) checks that a vector's length field is aligned, not that its
// elements are aligned for their type: a hostile buffer can place a vector of 8-byte scalars or
// structs at a 4-byte boundary, and reading it would be undefined behaviour. Decoders check this
// too; a buffer from our writer always passes. An empty vector has nothing to misread, and the
// writer does not align one (its data pointer is just past its length).
#pragma once

#include <cstdint>

#include <flatbuffers/flatbuffers.h>

namespace rrvm {

template <typename Element, typename Vector> bool elements_aligned(const Vector* vector) {
  return !vector || vector->size() == 0 ||
         reinterpret_cast<uintptr_t>(vector->Data()) % alignof(Element) == 0;
}

} // namespace rrvm
