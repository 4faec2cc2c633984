from django.http import JsonResponse
from django.urls import path


def ping(request):  # type: ignore[no-untyped-def]
    return JsonResponse({"pong": True})


urlpatterns = [path("ping", ping)]
