# User C module `_azure` for MicroPython's CMake-based ports (esp32, rp2).
# Build the Rust archive for the board's target first (see the Makefile's
# `lib` target) and pass its path as -DUPY_AZURE_LIB=...
add_library(usermod_azure INTERFACE)

target_sources(usermod_azure INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}/modazure.c
    ${CMAKE_CURRENT_LIST_DIR}/modazure_http.c
    ${CMAKE_CURRENT_LIST_DIR}/modazure_mqtt.c
)

target_include_directories(usermod_azure INTERFACE
    ${CMAKE_CURRENT_LIST_DIR}
    ${CMAKE_CURRENT_LIST_DIR}/../include
)

if(NOT UPY_AZURE_LIB)
    set(UPY_AZURE_LIB ${CMAKE_CURRENT_LIST_DIR}/../target/release/libupy_azure.a)
endif()
target_link_libraries(usermod_azure INTERFACE ${UPY_AZURE_LIB})

target_link_libraries(usermod INTERFACE usermod_azure)
