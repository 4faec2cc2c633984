#!/bin/sh
# Regenerate the `nginx -T` dumps next to this script with the real nginx (Debian 12's
# nginx 1.22.1). The Lua configuration needs the Lua module, which is not installed on the
# host: its Debian packages are unpacked into a scratch directory and loaded from there.
#   apt-get download libnginx-mod-http-lua libnginx-mod-http-ndk libluajit2-5.1-2 libpcre3 \
#       lua-resty-core lua-resty-lrucache && for f in *.deb; do dpkg-deb -x "$f" "$LUAROOT"; done
set -eu
here=$(cd "$(dirname "$0")" && pwd)
LUAROOT=${LUAROOT:-/tmp/luamod/root}
rm -rf /tmp/gdngx && mkdir -p /tmp/gdngx && cp -r "$here/lua" "$here/lua-newer" "$here/includes" "$here/servers" /tmp/gdngx/
nginx -T -q -c /tmp/gdngx/includes/nginx.conf -p /tmp/gdngx/includes/ > "$here/includes.dump"
nginx -T -q -c /tmp/gdngx/servers/nginx.conf -p /tmp/gdngx/servers/ > "$here/servers.dump"
sed -i "s#lua_package_path \"/usr/share/lua/5.1/#lua_package_path \"$LUAROOT/usr/share/lua/5.1/#" \
    /tmp/gdngx/lua/nginx.conf
LD_LIBRARY_PATH="$LUAROOT/usr/lib/x86_64-linux-gnu:$LUAROOT/lib/x86_64-linux-gnu" \
    nginx -T -q -c /tmp/gdngx/lua/nginx.conf -p "$LUAROOT/usr/lib/nginx/" > "$here/lua.dump"
LD_LIBRARY_PATH="$LUAROOT/usr/lib/x86_64-linux-gnu:$LUAROOT/lib/x86_64-linux-gnu" \
    nginx -T -q -c /tmp/gdngx/lua-newer/nginx.conf -p "$LUAROOT/usr/lib/nginx/" \
    > "$here/lua-newer.dump"
