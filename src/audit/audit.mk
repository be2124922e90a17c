libcmk_la_SOURCES +=
