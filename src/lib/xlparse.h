/*
 * xlparse.h: an xl config text read by the installed libxlutil, as xl
 * reads it, with libxlutil's complaint kept for the caller's message.
 */
#ifndef HETMIG_XLPARSE_H
#define HETMIG_XLPARSE_H

#include <stddef.h>

#include <libxlutil.h>

/*
 * xlparse_text: TEXT through libxlutil, NAME naming it in complaints;
 * NULL when libxlutil refuses it.  Then, unless WHY_R is NULL, *WHY_R
 * gets the complaint (malloc'd, every line of it; the caller frees it).
 * A NUL byte is refused before libxlutil sees it: its lexer asserts on
 * one inside a string.  The caller destroys the result.
 */
XLU_Config *xlparse_text(const char *text, size_t len, const char *name,
			 char **why_r);

/*
 * xlparse_complaint: the first line of WHY (an xlparse_text complaint
 * about NAME), "NAME:LINE: message" made "line LINE: message", into BUF.
 */
const char *xlparse_complaint(const char *why, const char *name, char *buf,
			     size_t n);

#endif
