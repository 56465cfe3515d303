"""The addresses the portal never calls (link-local and cloud metadata, unspecified, multicast,
reserved), however they are written, and a connection that is never made to them."""

import socket

import pytest
from django.core.exceptions import ValidationError

from nhiportal import outbound


@pytest.mark.parametrize("address, kind", [
    ("169.254.169.254", "a link-local address"),  # AWS, GCP, Azure, OCI metadata
    ("169.254.0.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("fe80::a9fe:a9fe%eth0", "a link-local address"),
    ("fd00:ec2::254", "a cloud metadata address"),  # AWS's, over IPv6
    ("100.100.100.200", "a cloud metadata address"),  # Alibaba Cloud's
    ("0.0.0.0", "the unspecified address"),
    ("::", "the unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("239.255.255.250", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("240.0.0.1", "a reserved address"),
    ("255.255.255.255", "a reserved address"),
    ("::a9fe:a9fe", "a reserved address"),  # IPv4-compatible, long deprecated
    # IPv4 written as IPv6 is judged as the IPv4 address it reaches
    ("::ffff:169.254.169.254", "a link-local address"),
    ("::ffff:a9fe:a9fe", "a link-local address"),
    ("::ffff:0.0.0.0", "the unspecified address"),
    ("::ffff:224.0.0.1", "a multicast address"),
    ("64:ff9b::169.254.169.254", "a link-local address"),  # through a NAT64 gateway
    ("2002:a9fe:a9fe::1", "a link-local address"),  # 6to4
    ("2001:0:4136:e378:8000:63bf:5601:5601", "a link-local address"),  # Teredo (the client's address, inverted)
])
def test_it_refuses_link_local_metadata_unspecified_multicast_and_reserved_addresses(address, kind):
    assert outbound.address_refusal(address) == kind


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.8.8", "::1", "::ffff:127.0.0.1",  # this machine: servers beside the portal, the tests'
    "10.0.0.5", "172.16.0.1", "192.168.1.20", "fd12:3456::1",  # private: on-premise receivers
    "100.64.0.1",  # shared address space (carrier-grade NAT, Tailscale)
    "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",  # the internet
])
def test_it_allows_loopback_private_and_public_addresses(address):
    assert outbound.address_refusal(address) is None


@pytest.mark.parametrize("url, says", [
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address; the portal never calls it."),
    ("https://[::ffff:169.254.169.254]/bundle", "::ffff:169.254.169.254 is a link-local address"),
    ("https://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
    ("http://0.0.0.0:8080/hooks", "0.0.0.0 is the unspecified address"),
    ("https://[::]/", ":: is the unspecified address"),
    ("https://224.0.0.251/", "224.0.0.251 is a multicast address"),
    # the forms getaddrinfo reads an IPv4 address in, which look like no address
    ("https://2852039166/", "2852039166 (169.254.169.254) is a link-local address"),
    ("https://0xA9FEA9FE/", "0xa9fea9fe (169.254.169.254) is a link-local address"),
    ("https://169.254.43518/", "169.254.43518 (169.254.169.254) is a link-local address"),
    ("https://0/", "0 (0.0.0.0) is the unspecified address"),
])
def test_a_url_whose_host_is_a_refused_address_is_refused_with_the_reason(url, says):
    assert says in outbound.url_refusal(url)
    with pytest.raises(ValidationError) as refused:
        outbound.validate_url(url, "url")
    assert says in refused.value.message_dict["url"][0]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8443/", "http://[::1]:8443/", "https://10.1.2.3/hook", "https://siem.example.com/hook",
    "https://metadata.google.internal/",  # a host name: judged as it resolves, when the portal connects
    "https://1e100.net/", "not a url", "http://[::1", "",
])
def test_a_url_with_an_allowed_address_or_a_host_name_is_left_to_connect_time(url):
    assert outbound.url_refusal(url) is None
    outbound.validate_url(url, "url")


@pytest.fixture
def listener():
    """A TCP server on loopback that counts the connections it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    yield server
    server.close()


def accepted(server) -> int:
    count = 0
    try:
        while True:
            server.accept()[0].close()
            count += 1
    except TimeoutError:
        return count


def test_it_connects_to_an_allowed_address(listener):
    with outbound.connect(("127.0.0.1", listener.getsockname()[1]), timeout=2) as sock:
        assert sock.getpeername()[0] == "127.0.0.1"
    assert accepted(listener) == 1


@pytest.mark.parametrize("host", ["0.0.0.0", "0", "::ffff:0.0.0.0"])
def test_it_makes_no_connection_to_an_address_that_would_reach_this_machine_another_way(listener, host):
    # Connecting to the unspecified address reaches this machine's servers: without the check,
    # the listener on 127.0.0.1 would take this connection.
    with pytest.raises(outbound.Refused, match="is the unspecified address, which the portal never calls"):
        outbound.connect((host, listener.getsockname()[1]), timeout=2)
    assert accepted(listener) == 0


def test_a_host_that_resolves_to_a_metadata_address_is_refused_before_connecting():
    # 2852039166 is no address to ipaddress, but the resolver reads it as 169.254.169.254.
    with pytest.raises(outbound.Refused) as refused:
        outbound.connect(("2852039166", 80), timeout=2)
    assert str(refused.value) == "refused: 169.254.169.254 is a link-local address, which the portal never calls"
    assert isinstance(refused.value, ConnectionError)  # reported as any unreachable host is
