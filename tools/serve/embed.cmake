# Write a C source holding the bytes of a file (the OpenAPI document the service serves):
#   cmake -DIN=docs/openapi.json -DOUT=openapi_json.c -DNAME=npsw_openapi_json -P embed.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
file(WRITE "${OUT}" "/* generated from ${IN} by tools/serve/embed.cmake */\n#include <stddef.h>\n"
     "const unsigned char ${NAME}[] = {${body} 0};\nconst size_t ${NAME}_len = ${len};\n")
