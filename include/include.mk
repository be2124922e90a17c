include_HEADERS = include/cmk-pkcs11.h
