# The Debian package, built by CPack (`make deb`): sipnatd, sipnatctl, the
# systemd unit, the example configuration as a conffile, the man pages and a
# sysusers.d entry for the "sipnatd" account. The Makefile configures the
# build with prefix /usr, sysconfdir /etc and the unit in /lib/systemd/system;
# library dependencies come from dpkg-shlibdeps (package dpkg-dev).

install(FILES ${CMAKE_CURRENT_LIST_DIR}/sysusers.conf DESTINATION lib/sysusers.d
        RENAME sipnatd.conf)

set(SIPNATD_DEB_DIR ${CMAKE_BINARY_DIR}/deb)
file(WRITE ${SIPNATD_DEB_DIR}/conffiles "${CMAKE_INSTALL_FULL_SYSCONFDIR}/sipnatd/sipnatd.conf\n")
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/${script} ${SIPNATD_DEB_DIR}/${script} COPYONLY)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sipnatd)
set(CPACK_PACKAGE_VENDOR sipnatd)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SIP/RTP NAT-traversal proxy for a PBX behind a home router")
set(CPACK_PACKAGE_DESCRIPTION "sipnatd lets a PBX on a private LAN (Asterisk, typically) talk SIP and
RTP with phones and providers on the Internet through a home NAT router,
without exposing the PBX: digest authentication of remote peers, a
registrar, Via/Contact/SDP rewriting, a latching RTP relay and qualify
pings. sipnatctl shows peers, registrations, calls and counters.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "sipnatd maintainers <root@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${SIPNATD_DEB_DIR}/conffiles ${SIPNATD_DEB_DIR}/postinst
    ${SIPNATD_DEB_DIR}/prerm ${SIPNATD_DEB_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
include(CPack)
