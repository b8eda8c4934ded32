from oauthtrace.cli import main

main()
