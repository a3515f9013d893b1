from django.urls import path

from queries import views

app_name = "queries"

urlpatterns = [path("queries/", views.query_list, name="list")]
