# Configures nginx's sources in WORK for the module in MODULE_DIR (again
# only when the libraries or the module's config changed: configure takes
# about 15 s), builds it, and copies it to OUTPUT.
# cmake -DNGINX_SOURCE= -DWORK= -DMODULE_DIR= -DLIBS= -DOUTPUT= -DPREFIX_MAPS= -P build_module.cmake
file(READ ${MODULE_DIR}/config module_config)
string(REPLACE ";" " " PREFIX_MAPS "${PREFIX_MAPS}")
# nginx builds in WORK: its paths go too.
string(APPEND PREFIX_MAPS " -ffile-prefix-map=${WORK}/=")
string(SHA256 stamp "${LIBS}\n${PREFIX_MAPS}\n${module_config}")
set(stamp_file ${WORK}/corsd-configured)
if(EXISTS ${stamp_file})
  file(READ ${stamp_file} configured)
endif()
if(NOT configured STREQUAL stamp OR NOT EXISTS ${WORK}/objs/Makefile)
  file(REMOVE_RECURSE ${WORK})
  file(COPY ${NGINX_SOURCE}/ DESTINATION ${WORK})
  # Debian's own flags (nginx -V), so the module loads into Debian's nginx.
  set(ENV{CORSD_NGINX_LIBS} "${LIBS}")
  execute_process(
    COMMAND bash -c "source ./conf_flags && ./configure \"\${NGX_CONF_FLAGS[@]}\" \
      --with-cc-opt='-g -O2 -fstack-protector-strong -Wformat -Werror=format-security -fPIC -D_FORTIFY_SOURCE=2 ${PREFIX_MAPS}' \
      --with-ld-opt='-Wl,-z,relro -Wl,-z,now -fPIC' --add-dynamic-module=${MODULE_DIR}"
    WORKING_DIRECTORY ${WORK} RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "nginx's configure failed:\n${out}\n${err}")
  endif()
  file(WRITE ${stamp_file} "${stamp}")
endif()
execute_process(COMMAND make -f objs/Makefile modules WORKING_DIRECTORY ${WORK} RESULT_VARIABLE status
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "building the nginx module failed:\n${out}\n${err}")
endif()
file(COPY_FILE ${WORK}/objs/ngx_http_corsd_module.so ${OUTPUT} ONLY_IF_DIFFERENT)
