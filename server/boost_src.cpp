// SPDX-License-Identifier: MIT
// The one translation unit that compiles Asio (with its OpenSSL layer), Beast and Boost.URL
// (separate compilation).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
#include <boost/url/src.hpp>
