# cmake -DIN=a.proto -DOUT=b.proto -P proto3_optional.cmake
# Debian 12's protoc-c (protobuf-c 1.4.1) refuses proto3 `optional` fields (support came in
# 1.5.0). A proto3 optional field is, by definition, a field alone in a synthetic oneof named
# after it with a leading underscore: same wire format, same presence. This rewrites
#   optional T name = N [opts];   into   oneof _name { T name = N [opts]; }
# Every optional field in Qdrant 1.19's files has that one-line form; any other use of the word
# `optional` at the start of a declaration stops the build rather than being silently kept.
# protoc-c 1.4.1 also names every message's header member `base`, so a field called `base`
# (PowExpression.base) is renamed `base_`: names are not on the wire, numbers are.
file(READ ${IN} text)
string(REGEX REPLACE
       "\n([ \t]*)optional[ \t]+([A-Za-z0-9_.]+)[ \t]+([A-Za-z0-9_]+)[ \t]*=[ \t]*([0-9]+)([^;\n]*);"
       "\n\\1oneof _\\3 { \\2 \\3 = \\4\\5; }" text "${text}")
string(REGEX REPLACE "\n([ \t]*)([A-Za-z0-9_.]+)[ \t]+base[ \t]*=" "\n\\1\\2 base_ =" text
       "${text}")
string(REGEX MATCH "\n[ \t]*optional[ \t]" left "${text}")
if(left)
  message(FATAL_ERROR "${IN}: an `optional` declaration this rewrite does not understand")
endif()
file(WRITE ${OUT} "${text}")
