# cdp_warnings(target): the project's warning set, applied per target so that
# third-party headers (included as SYSTEM) stay quiet.
function(cdp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(CDP_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
