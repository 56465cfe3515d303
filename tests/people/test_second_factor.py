"""A second factor after the password: an authenticator app (TOTP codes computed by pyotp, as
the app would) and recovery codes, through the real sign-in pages."""

from datetime import timedelta

import pyotp
import pytest
from django.test import Client
from django.utils import timezone

from nhiportal.audit.models import AuditEvent
from nhiportal.people.models import RecoveryCode, SecondFactor
from nhiportal.people.second_factor import PENDING_KEY
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/accounts/second-factor/"


def code_at(secret, seconds_from_now=0):
    return pyotp.TOTP(secret).at(timezone.now() + timedelta(seconds=seconds_from_now))


def enrol(client, *, with_code=False):
    """Set up an app as its person would; return its secret and the recovery codes shown (and
    the code that confirmed it, with_code)."""
    page = client.get(PAGE)
    secret = page.context["secret"]
    code = code_at(secret)
    done = client.post(PAGE, {"code": code})
    assert done.status_code == 200, done.content
    return (secret, done.context["recovery_codes"], code) if with_code else (secret, done.context["recovery_codes"])


def password_step(client, user, next_url="/identities/"):
    return client.post(f"/accounts/login/?next={next_url}", {"username": user.get_username(), "password": PASSWORD})


def signed_in_as(client):
    response = client.get("/")
    return response.wsgi_request.user.get_username() if response.status_code == 200 else None


def test_a_person_enrols_an_app_and_then_signs_in_with_its_code(client_for, alice):
    client = client_for(alice)
    page = client.get(PAGE)
    assert page.status_code == 200 and b"Set up an authenticator app" in page.content
    qr = client.get(f"{PAGE}qr.svg")
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content and qr["Cache-Control"].startswith("max-age=0")
    assert client.post(PAGE, {"code": "000000"}).status_code == 400  # a wrong code turns nothing on
    secret, codes, enrolment_code = enrol(client, with_code=True)
    assert len(codes) == 10 and len(set(codes)) == 10
    factor = SecondFactor.objects.get(user=alice)
    assert secret.encode() not in bytes(factor.secret_encrypted)  # encrypted at rest
    assert all(code.replace("-", "") not in "".join(RecoveryCode.objects.values_list("code_hash", flat=True)) for code in codes)
    assert AuditEvent.objects.filter(action="person.second_factor_enrolled", object_repr="alice").count() == 1

    fresh = Client()
    response = password_step(fresh, alice)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/code/"
    assert signed_in_as(fresh) is None  # the password alone signs nobody in
    wrong = fresh.post("/accounts/login/code/", {"code": "123456"})
    assert wrong.status_code == 400 and b"That code is not right" in wrong.content
    # The code used to enrol was spent (even if a new 30-second step began since); the app's next one works.
    assert fresh.post("/accounts/login/code/", {"code": enrolment_code}).status_code == 400
    next_code = code_at(secret, 30)
    right = fresh.post("/accounts/login/code/", {"code": next_code})
    assert right.status_code == 302 and right["Location"] == "/identities/"
    assert signed_in_as(fresh) == "alice"
    # The same code again, in another browser: refused (a code works once).
    again = Client()
    password_step(again, alice)
    assert again.post("/accounts/login/code/", {"code": next_code}).status_code == 400


def test_a_recovery_code_signs_in_once_and_is_written_down(client_for, alice):
    _, codes = enrol(client_for(alice))
    client = Client()
    password_step(client, alice)
    assert client.post("/accounts/login/code/", {"code": codes[0].lower()}).status_code == 302
    event = AuditEvent.objects.get(action="person.recovery_code_used")
    assert event.after == {"recovery_codes_left": 9}
    client = Client()
    password_step(client, alice)
    assert client.post("/accounts/login/code/", {"code": codes[0]}).status_code == 400


def test_five_wrong_codes_send_the_person_back_to_the_password_and_a_stale_step_expires(client_for, alice):
    secret, _ = enrol(client_for(alice))
    client = Client()
    password_step(client, alice)
    for _ in range(4):
        assert client.post("/accounts/login/code/", {"code": "111111"}).status_code == 400
    last = client.post("/accounts/login/code/", {"code": "111111"})
    assert last.status_code == 400 and b"Too many wrong codes" in last.content
    assert client.post("/accounts/login/code/", {"code": code_at(secret, 30)}).status_code == 302  # to the sign-in page
    assert signed_in_as(client) is None

    password_step(client, alice)
    session = client.session
    session[PENDING_KEY] = {**session[PENDING_KEY], "at": (timezone.now() - timedelta(minutes=6)).timestamp()}
    session.save()
    late = client.post("/accounts/login/code/", {"code": code_at(secret, 30)})
    assert late.status_code == 400 and b"That took too long" in late.content and signed_in_as(client) is None


def test_a_role_that_requires_it_is_sent_to_enrol_before_anything_else(settings, sam, alice):
    settings.MFA_REQUIRED_ROLES = ["security_admin"]
    client = Client()
    assert password_step(client, sam)["Location"] == "/identities/"
    for path in ("/identities/", "/keys/", "/api/v1/identities/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == PAGE, path
    page = client.get(PAGE)
    assert b"your role requires one" in page.content
    secret, _ = enrol(client)
    assert client.get("/keys/").status_code == 200
    # An owner is not asked.
    owner = Client()
    password_step(owner, alice)
    assert owner.get("/identities/").status_code == 200
    # A session that never gave a code (signed in before the app was set up) must sign in again.
    stale = Client()
    stale.force_login(sam)
    response = stale.get("/keys/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert signed_in_as(stale) is None


def test_single_sign_on_stands_for_the_second_factor(settings, oidc_provider):
    from tests.people.test_single_sign_on import sign_in

    settings.MFA_REQUIRED_ROLES = ["owner"]
    client = Client()
    sign_in(client)
    assert client.get("/identities/").status_code == 200


def test_turning_it_off_needs_a_current_code_and_a_role_that_allows_it(settings, client_for, alice, sam):
    client = client_for(alice)
    secret, _ = enrol(client)
    client.post(f"{PAGE}remove/", {"code": "999999"})
    assert SecondFactor.objects.filter(user=alice).exists()
    client.post(f"{PAGE}remove/", {"code": code_at(secret, 30)})
    assert not SecondFactor.objects.filter(user=alice).exists() and not RecoveryCode.objects.filter(user=alice).exists()
    assert AuditEvent.objects.filter(action="person.second_factor_removed", actor=alice).count() == 1

    settings.MFA_REQUIRED_ROLES = ["security_admin"]
    admin = Client()
    admin.force_login(sam)
    secret, _ = enrol(admin)
    admin.post(f"{PAGE}remove/", {"code": code_at(secret, 30)})
    assert SecondFactor.objects.filter(user=sam).exists()


def test_a_security_admin_resets_the_factor_of_someone_who_lost_their_phone(client_for, alice, sam, charlie):
    enrol(client_for(alice))
    url = f"/users/{alice.pk}/second-factor/reset/"
    assert client_for(charlie).post(url, {"second_factor-reason": "let me in"}).status_code == 403
    assert client_for(sam).post(url, {"second_factor-reason": ""}).status_code == 400
    assert SecondFactor.objects.filter(user=alice).exists()
    assert client_for(sam).post(url, {"second_factor-reason": "phone lost, ticket 4411"}).status_code == 302
    assert not SecondFactor.objects.filter(user=alice).exists()
    event = AuditEvent.objects.get(action="person.second_factor_removed")
    assert event.actor_id == sam.pk and event.reason == "phone lost, ticket 4411"
    assert b"authenticator app" not in client_for(sam).get(f"/users/{alice.pk}/").content.split(b"Second factor</dt>")[1][:40]
    # Password alone again.
    client = Client()
    assert password_step(client, alice)["Location"] == "/identities/"


def test_the_pages_refuse_people_who_are_not_signed_in(db):
    anonymous = Client()
    assert anonymous.get(PAGE)["Location"].startswith("/accounts/login/")
    assert anonymous.get(f"{PAGE}qr.svg")["Location"].startswith("/accounts/login/")
    assert anonymous.post(f"{PAGE}remove/", {"code": "123456"})["Location"].startswith("/accounts/login/")
    assert anonymous.get("/accounts/login/code/")["Location"] == "/accounts/login/"


def test_the_qr_code_is_there_only_while_enrolling(client_for, alice):
    client = client_for(alice)
    assert client.get(f"{PAGE}qr.svg").status_code == 404
    client.get(PAGE)
    assert client.get(f"{PAGE}qr.svg").status_code == 200


def test_replacing_the_app_asks_for_a_code_of_the_one_in_place(client_for, alice):
    client = client_for(alice)
    first, codes = enrol(client)
    page = client.get(f"{PAGE}?replace=1")
    new = page.context["secret"]
    refused = client.post(PAGE, {"current": "000000", "code": code_at(new)})
    assert refused.status_code == 400 and b"not a current code of your app" in refused.content
    factor = SecondFactor.objects.get(user=alice)
    from nhiportal.people.second_factor import decrypt_secret

    assert decrypt_secret(factor.secret_encrypted) == first
    # A recovery code stands for an app that is lost.
    replaced = client.post(PAGE, {"current": codes[0], "code": code_at(new, 30)})
    assert replaced.status_code == 200 and replaced.context["recovery_codes"]
    assert decrypt_secret(SecondFactor.objects.get(user=alice).secret_encrypted) == new


def test_a_session_that_never_gave_a_code_cannot_swap_in_its_own_app(settings, sam):
    from nhiportal.people.second_factor import decrypt_secret, new_secret, second_factor_enrol

    settings.MFA_REQUIRED_ROLES = ["security_admin"]
    stale = Client()
    assert password_step(stale, sam)["Location"] == "/identities/"  # no app yet: the password was enough
    own = new_secret()
    second_factor_enrol(user=sam, secret=own, code=code_at(own))
    page = stale.get(f"{PAGE}?replace=1")
    if page.status_code == 200:
        stale.post(PAGE, {"current": "123456", "code": code_at(page.context["secret"])})
    assert stale.get("/keys/").status_code == 302
    assert decrypt_secret(SecondFactor.objects.get(user=sam).secret_encrypted) == own


def test_wrong_codes_in_a_row_close_the_code_step_for_a_while_whatever_the_session(alice):
    from nhiportal.people.second_factor import LOCK_MINUTES, WRONG_CODES_IN_A_ROW, new_secret, second_factor_enrol

    secret = new_secret()
    second_factor_enrol(user=alice, secret=secret, code=code_at(secret, -30))
    for _ in range(WRONG_CODES_IN_A_ROW // 5):  # the password again after every five
        client = Client()
        assert password_step(client, alice)["Location"] == "/accounts/login/code/"
        for _ in range(5):
            assert client.post("/accounts/login/code/", {"code": "000000"}).status_code == 400
    client = Client()
    password_step(client, alice)
    right = client.post("/accounts/login/code/", {"code": code_at(secret, 30)})
    assert right.status_code == 400 and b"Too many wrong codes in a row" in right.content and signed_in_as(client) is None
    event = AuditEvent.objects.get(action="person.second_factor_locked")
    assert event.object_repr == "alice" and event.after["wrong_codes_in_a_row"] == WRONG_CODES_IN_A_ROW
    # Once the lock has passed, the right code signs in.
    SecondFactor.objects.filter(user=alice).update(locked_until=timezone.now() - timedelta(minutes=LOCK_MINUTES))
    client = Client()
    password_step(client, alice)
    assert client.post("/accounts/login/code/", {"code": code_at(secret)})["Location"] == "/identities/"


def test_a_token_made_without_a_second_factor_stops_working_once_the_role_requires_one(settings, client_for, alice):
    tokens_page = "/accounts/tokens/"
    made = client_for(alice).post(tokens_page, {"name": "nightly export", "days": 30})
    old = made.context["raw_token"]
    api = "/api/v1/identities/"
    assert Client(HTTP_AUTHORIZATION=f"Bearer {old}").get(api).status_code == 200

    settings.MFA_REQUIRED_ROLES = ["owner"]
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {old}").get(api)
    assert refused.status_code == 401 and "make a new token" in refused.json()["detail"]
    # Signing in now means enrolling; a token made in that session works, the old one never again.
    client = Client()
    password_step(client, alice)
    enrol(client)
    page = client.post(tokens_page, {"name": "nightly export v2", "days": 30})
    assert Client(HTTP_AUTHORIZATION=f"Bearer {page.context['raw_token']}").get(api).status_code == 200
    assert Client(HTTP_AUTHORIZATION=f"Bearer {old}").get(api).status_code == 401
    listed = client.get(tokens_page).content.decode()
    assert listed.count("Made without a second factor") == 1
    assert AuditEvent.objects.filter(action="api_token.create", after__made_with_second_factor=True).count() == 1


def test_a_directory_sync_token_made_without_a_second_factor_is_refused_once_admins_need_one(settings, sam):
    from nhiportal.people.models import TokenPurpose
    from nhiportal.people.services import api_token_create

    _, raw = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC)
    _, by_operator = api_token_create(user=sam, name="okta", days=30, purpose=TokenPurpose.DIRECTORY_SYNC, made_with_second_factor=True)
    settings.MFA_REQUIRED_ROLES = ["security_admin"]
    refused = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/scim/v2/Users")
    assert refused.status_code == 401 and b"second factor" in refused.content and b"sam" not in refused.content
    assert Client(HTTP_AUTHORIZATION=f"Bearer {by_operator}").get("/scim/v2/Users").status_code == 200


@pytest.mark.parametrize("code", ["²²²²²²", "١٢٣٤٥٦"])
def test_a_code_in_other_scripts_digits_is_a_wrong_code_not_an_error(client_for, alice, code):
    client = client_for(alice)
    client.get(PAGE)
    refused = client.post(PAGE, {"code": code})  # enrolling
    assert refused.status_code == 400 and not SecondFactor.objects.filter(user=alice).exists()
    enrol(client)
    assert client.post(f"{PAGE}remove/", {"code": code}).status_code == 302  # back to the page, saying the code is wrong
    assert SecondFactor.objects.filter(user=alice).exists()
    fresh = Client()
    password_step(fresh, alice)
    wrong = fresh.post("/accounts/login/code/", {"code": code})
    assert wrong.status_code == 400 and b"That code is not right" in wrong.content
    assert signed_in_as(fresh) is None


# Setting up, replacing and removing the app confirm it is the person first (their password,
# unless this browser gave it, or signed in, within ten minutes): a thief on a session must not
# put in an app of their own and lock the owner out.


def test_a_borrowed_session_cannot_set_up_the_first_app_without_the_password(alice):
    from tests.people.test_reauthentication import stolen

    thief = stolen(alice)
    page = thief.get(PAGE)
    assert 'name="confirm_password"' in page.content.decode() and "Your password is asked again first" in page.content.decode()
    own = page.context["secret"]
    refused = thief.post(PAGE, {"code": code_at(own)})
    assert refused.status_code == 400 and refused.context["form"].errors["confirm_password"] == ["This field is required."]
    guessed = thief.post(PAGE, {"code": code_at(own), "confirm_password": "guess-guess-123"})
    assert guessed.status_code == 400 and guessed.context["form"].errors["confirm_password"] == ["That is not your password."]
    assert not SecondFactor.objects.filter(user=alice).exists()
    assert not AuditEvent.objects.filter(action="person.second_factor_enrolled").exists()
    # With the password, it is alice herself.
    done = thief.post(PAGE, {"code": code_at(own), "confirm_password": PASSWORD})
    assert done.status_code == 200 and done.context["recovery_codes"]


def test_replacing_the_app_from_a_borrowed_session_needs_the_password_as_well_as_a_code(alice):
    from nhiportal.people.second_factor import decrypt_secret
    from tests.people.test_reauthentication import age

    client = Client()
    password_step(client, alice)
    first, codes = enrol(client)
    age(client)
    page = client.get(f"{PAGE}?replace=1")
    assert 'name="confirm_password"' in page.content.decode()
    new = page.context["secret"]
    refused = client.post(PAGE, {"current": codes[0], "code": code_at(new)})
    assert refused.status_code == 400 and "confirm_password" in refused.context["form"].errors
    assert decrypt_secret(SecondFactor.objects.get(user=alice).secret_encrypted) == first
    assert not RecoveryCode.objects.filter(user=alice, used_at__isnull=False).exists()  # a wrong password spends no code
    replaced = client.post(PAGE, {"confirm_password": PASSWORD, "current": codes[0], "code": code_at(new)})
    assert replaced.status_code == 200 and decrypt_secret(SecondFactor.objects.get(user=alice).secret_encrypted) == new


def test_removing_the_app_from_a_borrowed_session_needs_the_password_as_well_as_a_code(alice):
    from tests.people.test_reauthentication import age

    client = Client()
    password_step(client, alice)
    secret, _ = enrol(client)
    age(client)
    assert 'name="confirm_password"' in client.get(PAGE).content.decode()
    refused = client.post(f"{PAGE}remove/", {"code": code_at(secret, 30)}, follow=True)
    assert SecondFactor.objects.filter(user=alice).exists() and b"This field is required" in refused.content
    client.post(f"{PAGE}remove/", {"code": code_at(secret, 30), "confirm_password": PASSWORD})
    assert not SecondFactor.objects.filter(user=alice).exists()


def test_a_password_given_for_a_token_is_not_asked_again_for_the_app_within_ten_minutes(alice):
    from tests.people.test_reauthentication import stolen

    browser = stolen(alice)
    assert browser.post("/accounts/tokens/", {"name": "ci", "days": "30", "confirm_password": PASSWORD}).status_code == 200
    page = browser.get(PAGE)
    assert 'name="confirm_password"' not in page.content.decode()
    assert browser.post(PAGE, {"code": code_at(page.context["secret"])}).status_code == 200


def test_single_sign_on_without_a_password_replaces_its_app_with_the_code_alone(alice, client_for):
    from nhiportal.people.second_factor import decrypt_secret
    from tests.people.test_reauthentication import age

    alice.set_unusable_password()
    alice.save()
    client = client_for(alice)
    first, _ = enrol(client)  # nothing to confirm with yet, and the form says why
    age(client)
    page = client.get(f"{PAGE}?replace=1")
    body = page.content.decode()
    assert 'name="confirm_password"' not in body and 'name="confirm_code"' not in body
    assert "the code of your app below confirms it is you" in body
    new = page.context["secret"]
    assert client.post(PAGE, {"current": code_at(first, 30), "code": code_at(new)}).status_code == 200
    assert decrypt_secret(SecondFactor.objects.get(user=alice).secret_encrypted) == new


# Each lock of the code step in a row lasts twice the one before, until a right code.


def _wrong_codes(person, n):
    from nhiportal.people.second_factor import second_factor_check

    for _ in range(n):
        assert second_factor_check(user=person, code="000000") is False


def _lift_lock(person):
    SecondFactor.objects.filter(user=person).update(locked_until=timezone.now() - timedelta(seconds=1))


def test_each_lock_in_a_row_lasts_twice_as_long_so_a_hundred_wrong_codes_take_hours(alice):
    from nhiportal.people.second_factor import WRONG_CODES_IN_A_ROW, new_secret, second_factor_enrol

    secret = new_secret()
    second_factor_enrol(user=alice, secret=secret, code=code_at(secret, -30))
    waited = 0
    for lock in range(1, 6):  # 5 locks: 100 wrong codes in a row
        _wrong_codes(alice, WRONG_CODES_IN_A_ROW)
        factor = SecondFactor.objects.get(user=alice)
        minutes = 15 * 2 ** (lock - 1)
        assert factor.locks_in_a_row == lock
        assert timedelta(minutes=minutes - 1) < factor.locked_until - timezone.now() <= timedelta(minutes=minutes)
        if lock < 5:
            waited += minutes
            _lift_lock(alice)
    assert waited == 15 + 30 + 60 + 120  # before the 100th wrong code could be typed
    events = AuditEvent.objects.filter(action="person.second_factor_locked").order_by("id")
    assert [event.after["lock_minutes"] for event in events] == [15, 30, 60, 120, 240]
    assert [event.after["locks_in_a_row"] for event in events] == [1, 2, 3, 4, 5]
    # The sign-in page says until when, day included, and takes no code meanwhile.
    client = Client()
    password_step(client, alice)
    locked = client.post("/accounts/login/code/", {"code": code_at(secret, 30)})
    assert locked.status_code == 400 and b"Too many wrong codes in a row" in locked.content
    assert f"{SecondFactor.objects.get(user=alice).locked_until:%Y-%m-%d %H:%M} UTC".encode() in locked.content


def test_a_right_code_starts_the_locks_again_from_fifteen_minutes(alice):
    from nhiportal.people.second_factor import WRONG_CODES_IN_A_ROW, new_secret, second_factor_enrol

    secret = new_secret()
    second_factor_enrol(user=alice, secret=secret, code=code_at(secret, -30))
    for _ in range(2):
        _wrong_codes(alice, WRONG_CODES_IN_A_ROW)
        _lift_lock(alice)
    assert SecondFactor.objects.get(user=alice).locks_in_a_row == 2
    client = Client()
    password_step(client, alice)
    assert client.post("/accounts/login/code/", {"code": code_at(secret)})["Location"] == "/identities/"
    assert SecondFactor.objects.get(user=alice).locks_in_a_row == 0
    _wrong_codes(alice, WRONG_CODES_IN_A_ROW)
    assert AuditEvent.objects.filter(action="person.second_factor_locked").order_by("-id").first().after["lock_minutes"] == 15
