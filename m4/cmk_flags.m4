# SPDX-License-Identifier: Apache-2.0
# CMK_CHECK_CFLAG(FLAG, ACTION-IF-OK): does the C compiler accept FLAG
# without a warning?
AC_DEFUN([CMK_CHECK_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  cmk_save_CFLAGS="$CFLAGS"
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[]], [[]])],
    [AC_MSG_RESULT([yes]); $2], [AC_MSG_RESULT([no])])
  CFLAGS="$cmk_save_CFLAGS"
])
