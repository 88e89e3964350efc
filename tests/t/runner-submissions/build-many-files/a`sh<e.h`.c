/* Named so that a build rule handing names to the shell runs "sh < e.h" (the
 * backquotes of the name). */
