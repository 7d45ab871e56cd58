set __escsh_bin = @ESCSH@;
if ( ! $?__escsh_prev ) set __escsh_prev = '';
if ( ! $?__escsh_stamp ) set __escsh_stamp = '';
alias __escsh_run '$__escsh_bin:q export tcsh';
alias __escsh_export 'set __escsh_tr = ( $?echo $?verbose ); unset echo verbose; setenv __ESCSH_PREV $__escsh_prev:q; setenv __ESCSH_STAMP $__escsh_stamp:q; eval "`__escsh_run`"; unsetenv __ESCSH_PREV __ESCSH_STAMP; if ( $__escsh_tr[2] ) set verbose; if ( $__escsh_tr[1] ) set echo;';
set __escsh_old = "`alias precmd`";
if ( "$__escsh_old:q" !~ *__escsh_export* ) alias precmd "__escsh_export; $__escsh_old:q";
unset __escsh_old;
